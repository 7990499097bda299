package message

import (
	"encoding/binary"
	"fmt"
)

// openfront: CheckAMF0 walks an AMF0 command or data body before go-amf0
// decodes it, and refuses what would kill the process beyond any recover:
// go-amf0 allocates a strict array from its announced count (5 bytes
// announcing 2^31-1 elements: "fatal error: runtime: out of memory") and
// recurses once per nesting level without a limit (4 MiB of nested objects:
// "fatal error: stack overflow"). A strict array may announce no more
// elements than bytes remain (each takes at least one), and values nest at
// most MaxAMF0Depth deep. Anything else, truncated or unknown, is left to
// go-amf0, which fails on it without harm.
func CheckAMF0(b []byte) error {
	c := amf0Checker{b: b}
	for c.p < len(c.b) {
		if err := c.value(1); err != nil {
			if err == errAMF0Stop {
				return nil
			}
			return err
		}
	}
	return nil
}

// MaxAMF0Depth is how deep AMF0 values may nest (a connect's object is 2).
const MaxAMF0Depth = 32

var errAMF0Stop = fmt.Errorf("stop")

type amf0Checker struct {
	b []byte
	p int
}

func (c *amf0Checker) skip(n int) error {
	if n > len(c.b)-c.p {
		return errAMF0Stop
	}
	c.p += n
	return nil
}

func (c *amf0Checker) uint(n int) (int, error) {
	if n > len(c.b)-c.p {
		return 0, errAMF0Stop
	}
	var v uint64
	for _, x := range c.b[c.p : c.p+n] {
		v = v<<8 | uint64(x)
	}
	c.p += n
	return int(v), nil
}

func (c *amf0Checker) value(depth int) error {
	if depth > MaxAMF0Depth {
		return fmt.Errorf("AMF0 values nest deeper than %d at byte %d", MaxAMF0Depth, c.p)
	}
	if c.p >= len(c.b) {
		return errAMF0Stop
	}
	marker := c.b[c.p]
	c.p++
	switch marker {
	case 0x00: // number
		return c.skip(8)
	case 0x01: // boolean
		return c.skip(1)
	case 0x02: // string
		n, err := c.uint(2)
		if err != nil {
			return err
		}
		return c.skip(n)
	case 0x03: // object
		return c.properties(depth)
	case 0x05, 0x06: // null, undefined
		return nil
	case 0x07: // reference
		return c.skip(2)
	case 0x08: // ECMA array: a count go-amf0 ignores, then properties
		if err := c.skip(4); err != nil {
			return err
		}
		return c.properties(depth)
	case 0x0a: // strict array
		at := c.p - 1
		n, err := c.uint(4)
		if err != nil {
			return err
		}
		if n > len(c.b)-c.p {
			return fmt.Errorf("AMF0 strict array at byte %d announces %d elements in %d bytes", at, n, len(c.b)-c.p)
		}
		for i := 0; i < n; i++ {
			if err := c.value(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case 0x0b: // date
		return c.skip(10)
	case 0x0c, 0x0f: // long string, XML document
		n, err := c.uint(4)
		if err != nil {
			return err
		}
		return c.skip(n)
	default: // movie clip, object end, unsupported, record set, typed object, AMF3
		return errAMF0Stop
	}
}

// properties walks an object's key/value pairs up to the object end.
func (c *amf0Checker) properties(depth int) error {
	for {
		if c.p+3 <= len(c.b) && binary.BigEndian.Uint16(c.b[c.p:]) == 0 && c.b[c.p+2] == 0x09 {
			c.p += 3
			return nil
		}
		n, err := c.uint(2)
		if err != nil {
			return err
		}
		if err := c.skip(n); err != nil {
			return err
		}
		if err := c.value(depth + 1); err != nil {
			return err
		}
	}
}
