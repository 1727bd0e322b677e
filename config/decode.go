package config

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Error is a configuration mistake at one place in one file.
type Error struct {
	File string
	Line int
	Key  string // dotted path, e.g. rules[0].for
	Msg  string
}

func (e *Error) Error() string {
	loc := e.File
	if loc == "" {
		loc = "config"
	}
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Key == "" {
		return loc + ": " + e.Msg
	}
	return loc + ": " + e.Key + ": " + e.Msg
}

// Errors collects every mistake found, so a user fixes them in one go.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// Node is a part of the file whose keys another package defines, such as the
// settings of one integration. It remembers where it came from.
type Node struct {
	File string
	Path string
	Node *yaml.Node
	// skip lists keys decoded elsewhere that Decode must not call unknown.
	skip map[string]bool
}

// Decode fills out, a pointer to a struct with yaml tags, from the node.
// Unknown keys, wrong types and bad durations are errors naming file, line and
// key. Fields tagged `default:"..."` get that value when absent.
func (n Node) Decode(out any) error {
	d := decoder{file: n.File}
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("decode %s: need a non-nil pointer", n.Path)
	}
	if n.Node == nil {
		d.defaults(v.Elem())
		return d.errs.err()
	}
	d.value(n.Node, v.Elem(), n.Path, n.skip)
	return d.errs.err()
}

// Line returns the node's line in its file.
func (n Node) Line() int {
	if n.Node == nil {
		return 0
	}
	return n.Node.Line
}

// Errorf returns an [*Error] at this node.
func (n Node) Errorf(key, format string, args ...any) *Error {
	path := n.Path
	if key != "" {
		path += "." + key
	}
	line := n.Line()
	if n.Node != nil && key != "" {
		if c := child(n.Node, key); c != nil {
			line = c.Line
		}
	}
	return &Error{File: n.File, Line: line, Key: path, Msg: fmt.Sprintf(format, args...)}
}

func child(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

type decoder struct {
	file string
	errs Errors
}

func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Key: path, Msg: fmt.Sprintf(format, args...)})
}

var (
	durationType = reflect.TypeOf(Duration(0))
	nodeType     = reflect.TypeOf(Node{})
	yamlNodeType = reflect.TypeOf(yaml.Node{})
)

// unmarshaler lets a type parse its own scalar form, such as a rate "5/s".
type unmarshaler interface {
	parseScalar(s string) error
}

func (d *decoder) value(n *yaml.Node, v reflect.Value, path string, skip map[string]bool) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}

	switch {
	case v.Type() == nodeType:
		v.Set(reflect.ValueOf(Node{File: d.file, Path: path, Node: n}))
		return
	case v.Type() == yamlNodeType:
		v.Set(reflect.ValueOf(*n))
		return
	case v.Type() == durationType:
		d.duration(n, v, path)
		return
	}
	if u, ok := v.Addr().Interface().(unmarshaler); ok {
		if n.Kind != yaml.ScalarNode {
			d.fail(n, path, "want a single value")
			return
		}
		if err := u.parseScalar(n.Value); err != nil {
			d.fail(n, path, "%v", err)
		}
		return
	}

	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), path, skip)
	case reflect.Struct:
		d.structure(n, v, path, skip)
	case reflect.Slice:
		d.slice(n, v, path)
	case reflect.Map:
		d.mapping(n, v, path)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.fail(n, path, "%v", err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		d.scalar(n, v, path)
	}
}

func (d *decoder) duration(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "want a duration such as 30s, 5m or 7d")
		return
	}
	dur, err := ParseDuration(n.Value)
	if err != nil {
		d.fail(n, path, "%v", err)
		return
	}
	v.SetInt(int64(dur))
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string, skip map[string]bool) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping of keys, got %s", kindName(n))
		return
	}
	fields := structFields(v.Type())
	remain := remainField(v.Type())
	if remain >= 0 {
		known := map[string]bool{}
		for k := range fields {
			known[k] = true
		}
		v.Field(remain).Set(reflect.ValueOf(Node{File: d.file, Path: path, Node: n, skip: known}))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := k.Value
		sub := join(path, key)
		if seen[key] {
			d.fail(k, sub, "key given twice")
			continue
		}
		seen[key] = true
		idx, ok := fields[key]
		if !ok {
			if skip[key] || remain >= 0 {
				continue
			}
			d.fail(k, sub, "unknown key; known keys: %s", strings.Join(knownKeys(fields), ", "))
			continue
		}
		d.value(val, v.FieldByIndex(idx), sub, nil)
	}
	d.structDefaults(v, seen)
}

func (d *decoder) defaults(v reflect.Value) {
	if v.Kind() == reflect.Struct {
		d.structDefaults(v, map[string]bool{})
	}
}

func (d *decoder) structDefaults(v reflect.Value, seen map[string]bool) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		def, ok := f.Tag.Lookup("default")
		name := yamlName(f)
		if seen[name] || !f.IsExported() {
			continue
		}
		if !ok {
			if f.Type.Kind() == reflect.Struct && f.Type != nodeType && f.Tag.Get("yaml") != "-" {
				d.structDefaults(v.Field(i), map[string]bool{})
			}
			continue
		}
		node := &yaml.Node{Kind: yaml.ScalarNode, Value: def, Tag: "!!str"}
		d.value(node, v.Field(i), name, nil)
	}
}

func (d *decoder) slice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		// A single value where a list is wanted is a list of one.
		if n.Kind == yaml.ScalarNode && v.Type().Elem().Kind() == reflect.String {
			one := reflect.ValueOf(n.Value).Convert(v.Type().Elem())
			v.Set(reflect.Append(reflect.MakeSlice(v.Type(), 0, 1), one))
			return
		}
		d.fail(n, path, "want a list, got %s", kindName(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.value(item, out.Index(i), fmt.Sprintf("%s[%d]", path, i), nil)
	}
	v.Set(out)
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "want a mapping, got %s", kindName(n))
		return
	}
	if v.Type().Key().Kind() != reflect.String {
		d.fail(n, path, "unsupported map key type")
		return
	}
	out := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(val, elem, join(path, k.Value), nil)
		out.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), elem)
	}
	v.Set(out)
}

func (d *decoder) scalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.fail(n, path, "want a single value, got %s", kindName(n))
		return
	}
	s := n.Value
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		b, err := strconv.ParseBool(s)
		if err != nil {
			d.fail(n, path, "want true or false, got %q", s)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, 64)
		if err != nil {
			d.fail(n, path, "want a whole number, got %q", s)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 0, 64)
		if err != nil {
			d.fail(n, path, "want a non-negative whole number, got %q", s)
			return
		}
		v.SetUint(i)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
		if err != nil {
			d.fail(n, path, "want a number, got %q", s)
			return
		}
		v.SetFloat(f)
	default:
		d.fail(n, path, "unsupported field type %s", v.Type())
	}
}

func structFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" || tag == ",remain" {
			continue
		}
		if strings.Contains(tag, ",inline") && f.Type.Kind() == reflect.Struct {
			for k, idx := range structFields(f.Type) {
				out[k] = append([]int{i}, idx...)
			}
			continue
		}
		out[yamlName(f)] = []int{i}
	}
	return out
}

// remainField returns the index of the Node field tagged `yaml:",remain"`,
// which receives the whole mapping so another package can decode the keys
// this struct does not know; or -1.
func remainField(t reflect.Type) int {
	for i := 0; i < t.NumField(); i++ {
		if t.Field(i).Tag.Get("yaml") == ",remain" && t.Field(i).Type == nodeType {
			return i
		}
	}
	return -1
}

func yamlName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if name == "" {
		name = strings.ToLower(f.Name)
	}
	return name
}

func knownKeys(fields map[string][]int) []string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

// Duration is a time.Duration read as "30s", "5m", "1h30m" or "7d".
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats the duration the way it is written in the file.
func (d Duration) String() string {
	td := time.Duration(d)
	if td >= 24*time.Hour && td%(24*time.Hour) == 0 {
		return strconv.Itoa(int(td/(24*time.Hour))) + "d"
	}
	return td.String()
}

// MarshalYAML writes the duration as text.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// ParseDuration reads a Go duration, also accepting whole days ("7d") and a
// bare 0.
func ParseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, errors.New("bad duration " + strconv.Quote(s) + ": write e.g. 500ms, 30s, 5m, 2h or 7d")
	}
	if d < 0 {
		return 0, errors.New("duration " + strconv.Quote(s) + " must not be negative")
	}
	return d, nil
}
