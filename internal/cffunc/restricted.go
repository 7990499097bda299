package cffunc

import "github.com/dop251/goja"

// CloudFront's restricted features (functions-javascript-runtime-20.md,
// "Restricted features"): "Dynamic code evaluation is not supported.
// Both eval() and Function constructors throw an error if attempted",
// and "All Date methods to query the current time always return the
// same value during the lifetime of a single function run" (vm.now).

// refuseDynamicCode replaces eval and each Function constructor (plain,
// async and generator, each reachable as its prototype's constructor;
// goja has no async generators) with one that throws an EvalError. The
// prototypes stay: instanceof Function and Function.prototype.call work.
var refuseDynamicCode = goja.MustCompile("restricted.js", `(function () {
	function refused(name) {
		return function () {
			throw new EvalError(name + ': dynamic code evaluation is not supported in CloudFront Functions');
		};
	}
	[Function.prototype,
	 Object.getPrototypeOf(async function () {}),
	 Object.getPrototypeOf(function* () {})].forEach(function (proto) {
		var f = refused(proto.constructor.name);
		f.prototype = proto;
		Object.defineProperty(f, 'name', {value: proto.constructor.name});
		Object.defineProperty(proto, 'constructor', {value: f, writable: true, configurable: true});
	});
	globalThis.Function = Function.prototype.constructor;
	globalThis.eval = refused('eval');
})();`, false)
