package compiler

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"cuelang.org/go/cue"
)

// fieldHint is what follows CUE's "field not allowed" for the error at path
// (below #Config): the schema's field at the same place the user most
// likely meant ("; did you mean defaultTTL?"), or "" when none is close.
//
// CUE reports the error at the misspelt field or below it (alias[0] for a
// list under a misspelt name), so the hint is for the first element of path
// the schema does not allow. A name that is exactly (case aside) a field
// one level away says where it belongs instead.
func fieldHint(def cue.Value, path []string) string {
	if !def.Exists() {
		return ""
	}
	// parent is the struct holding cur (lists skipped), at path[:parentAt].
	cur, parent, parentAt := def, cue.Value{}, 0
	for i, el := range path {
		sel, ok := pathSelector(el)
		if !ok {
			return ""
		}
		switch sel.LabelType() {
		case cue.IndexLabel:
			next := cur.LookupPath(cue.MakePath(sel))
			if !next.Exists() {
				// A list of any length ([...#Origin] & list.MinItems(1))
				// has elements once it is long enough.
				open := "[" + strings.Repeat("_, ", sel.Index()+1) + "...]"
				next = cur.Unify(cur.Context().CompileString(open)).LookupPath(cue.MakePath(sel))
			}
			cur = next
		case cue.StringLabel:
			if !cur.Allows(sel) {
				typed, names := sel.Unquoted(), fieldNames(cur)
				if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, typed) }) {
					if h := belongsHint(typed, cur, parent, formatPath(path[:parentAt])); h != "" {
						return h
					}
				}
				return suggestField(typed, names)
			}
			parent, parentAt = cur, i
			next := cur.LookupPath(cue.MakePath(sel))
			if !next.Exists() {
				// A key of a pattern (distributions: [#ID]: ...):
				// adding it gives the pattern's value.
				p := cue.MakePath(sel)
				next = cur.FillPath(p, cur.Context().CompileString("_")).LookupPath(p)
			}
			cur = next
		default: // a definition or hidden field: the user's own
			return ""
		}
		if !cur.Exists() {
			return ""
		}
	}
	return ""
}

// belongsHint says where a field not allowed at cur belongs when the
// schema has it one level away: in a field of cur (a struct, or a list's
// entries), in parent (named by parentPath), or in parent's other fields.
// "" when nowhere.
func belongsHint(typed string, cur, parent cue.Value, parentPath string) string {
	var places []string
	// has reports the schema's spelling of typed among v's fields.
	has := func(v cue.Value) (string, bool) {
		for _, n := range fieldNames(v) {
			if strings.EqualFold(n, typed) {
				return n, true
			}
		}
		return "", false
	}
	name := ""
	inFields := func(v cue.Value) {
		it, err := v.Fields(cue.Optional(true))
		if err != nil {
			return
		}
		for it.Next() {
			label, child := it.Selector().Unquoted(), it.Value()
			place := label
			if child.IncompleteKind() == cue.ListKind {
				child, place = child.LookupPath(cue.MakePath(cue.AnyIndex)), "a "+label+" entry"
			}
			if child.IncompleteKind()&cue.StructKind == 0 {
				continue
			}
			if n, ok := has(child); ok {
				name = n
				places = append(places, place)
			}
		}
	}
	inFields(cur)
	if parent.Exists() {
		if n, ok := has(parent); ok && parentPath != "" {
			name = n
			places = append(places, parentPath)
		}
		inFields(parent)
	}
	switch len(places) {
	case 0:
		return ""
	case 1:
		return "; " + name + " belongs in " + places[0]
	}
	return "; " + name + " belongs in " + places[0] + " (or " + strings.Join(places[1:], ", or ") + ")"
}

// fieldNames lists v's regular fields, optional ones included.
func fieldNames(v cue.Value) []string {
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return nil
	}
	var names []string
	for it.Next() {
		if sel := it.Selector(); sel.LabelType() == cue.StringLabel {
			names = append(names, sel.Unquoted())
		}
	}
	return names
}

// suggestField picks the candidate closest to typed, ignoring case
// (CloudFront's API is PascalCase and users paste it), within an edit
// distance of a third of the longer name; the schema's order breaks ties.
// First, a CloudFront Quantity, which openfront drops, gets a word of its
// own, as do the CloudFront features openfront lacks: a bare "field not allowed"
// invites deleting the line without noticing what it did (the fields
// fieldLevelEncryptionId protected, card numbers say, now reach the
// origin in clear; a Lambda@Edge function's checks are not made; without
// its ACM certificate a distribution gets the node's default one).
func suggestField(typed string, candidates []string) string {
	switch {
	case strings.EqualFold(typed, "quantity"):
		return "; openfront drops CloudFront's Quantity fields: a list's length is its quantity"
	case strings.EqualFold(typed, "fieldLevelEncryptionId"):
		return "; openfront has no field-level encryption: the fields CloudFront encrypted at the edge reach the origin as the viewer sent them"
	case strings.EqualFold(typed, "lambdaFunctionAssociations"): // not functionAssociations, its near name
		return "; openfront runs no Lambda@Edge: what those functions checked or changed is not done (functionAssociations run CloudFront Functions)"
	case strings.EqualFold(typed, "realtimeLogConfigArn"):
		return "; openfront has no real-time logs: logging writes standard access logs"
	case strings.EqualFold(typed, "acmCertificateArn"), strings.EqualFold(typed, "iamCertificateId"),
		strings.EqualFold(typed, "certificate"), strings.EqualFold(typed, "certificateSource"): // get-distribution-config has all four
		return "; openfront serves certificates from the node, not ACM or IAM: certificateName NAME serves NAME.crt and NAME.key of serve --certs (without it, the node's default certificate)"
	case strings.EqualFold(typed, "originAccessControlId"), strings.EqualFold(typed, "originAccessIdentity"):
		return "; openfront signs requests to an S3 bucket with the node's own AWS credentials (s3OriginConfig.signRequests, true by default): grant them s3:GetObject"
	}
	if best := ClosestName(typed, candidates); best != "" {
		return "; did you mean " + best + "?"
	}
	return ""
}

// ClosestName is the candidate nearest to typed, ignoring case, within an
// edit distance of a third of the longer name ("" if none); the
// candidates' order breaks ties.
func ClosestName(typed string, candidates []string) string {
	best, _ := closest(typed, candidates)
	return best
}

// closestUnique is ClosestName without ties: for a name the config
// refers to, "api-v3" among "api-v1" and "api-v2" suggests neither, rather
// than the first, which may send traffic to the wrong origin.
func closestUnique(typed string, candidates []string) string {
	if best, tied := closest(typed, candidates); !tied {
		return best
	}
	return ""
}

// closest is ClosestName's candidate, and whether another is as near.
func closest(typed string, candidates []string) (best string, tied bool) {
	bestDist := -1
	lower := strings.ToLower(typed)
	for _, c := range candidates {
		d := editDistance(lower, strings.ToLower(c))
		if d > max(1, max(utf8.RuneCountInString(typed), utf8.RuneCountInString(c))/3) {
			continue
		}
		switch {
		case bestDist < 0 || d < bestDist:
			best, bestDist, tied = c, d, false
		case d == bestDist && !strings.EqualFold(c, best):
			tied = true
		}
	}
	return best, tied
}

// nameHint ends the error of a reference to a name the config lacks: the
// nearest name there is (a typo), else where names come from.
func nameHint(typed string, names []string, place string) string {
	if best := closestUnique(typed, names); best != "" {
		return fmt.Sprintf(": did you mean %q? (%s)", best, place)
	}
	return ": name " + place
}

// wrapperRE matches a printed struct with a Quantity or Items field, in any case.
var wrapperRE = regexp.MustCompile(`(?i)[{,]\s*"?(quantity|items)"?\s*:`)

// typeHint is what follows a "struct, want a list" mismatch whose struct
// is a CloudFront Quantity/Items wrapper: aliases: {Quantity: 1, Items: [...]}.
func typeHint(value, got, want string) string {
	if got == "struct" && want == "list" && wrapperRE.MatchString(value) {
		return "; openfront drops CloudFront's Quantity/Items wrappers: give the Items list directly"
	}
	return ""
}

// editDistance is the optimal string alignment distance between a and b:
// insertions, deletions, substitutions and transpositions of adjacent
// characters (defautlTTL) each count one.
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	// Three rows: the one before the previous is needed for transpositions.
	prev2 := make([]int, len(y)+1)
	prev := make([]int, len(y)+1)
	cur := make([]int, len(y)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(x); i++ {
		cur[0] = i
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(y)]
}

// pathSelector parses one element of a CUE error's path: an index, a
// field name, quoted if it is not an identifier, or a definition.
func pathSelector(el string) (cue.Selector, bool) {
	if i, err := strconv.Atoi(el); err == nil && i >= 0 {
		return cue.Index(i), true
	}
	p := cue.ParsePath(el)
	if p.Err() != nil || len(p.Selectors()) != 1 {
		return cue.Selector{}, false
	}
	return p.Selectors()[0], true
}
