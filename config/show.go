package config

import (
	"bytes"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// secretKey matches keys whose values are secrets: tokens, passwords,
// secrets, keys (X-Api-Key too), and webhook URLs (which carry their secret
// in the path).
var secretKey = regexp.MustCompile(`(?i)(token|password|passwd|secret|(^|[_-])key$|api[-_]?key|` +
	`webhook_url|signing|credentials|dsn|authorization|cookie)`)

// secretParam matches query parameters that carry secrets in URLs.
var secretParam = regexp.MustCompile(`(?i)(token|key|secret|sig|signature|password|passwd|auth|code|credential)`)

// IsSecretKey reports whether a key's value must never be shown.
func IsSecretKey(key string) bool { return secretKey.MatchString(key) }

// Show returns the file at path with ${ENV} expanded and every secret
// replaced by ***, for `tend config show`.
func Show(path string) ([]byte, error) {
	var b []byte
	if path == "" {
		b = []byte(DefaultYAML)
	} else {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return nil, err
		}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, &Error{File: path, Line: yamlErrLine(err), Msg: yamlErrMsg(err)}
	}
	var errs Errors
	expandEnv(path, &doc, "", &errs)
	mask(&doc)

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func mask(n *yaml.Node) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind == yaml.ScalarNode && IsSecretKey(k.Value) && v.Value != "" {
				v.Value, v.Tag, v.Style = "***", "!!str", 0
				continue
			}
			mask(v)
		}
	case yaml.ScalarNode:
		n.Value = RedactURL(n.Value)
	default:
		for _, c := range n.Content {
			mask(c)
		}
	}
}

// RedactURL hides the secrets a URL may carry: the password in its user
// info (a connection string) and the values of query parameters such as
// token, key or sig. Text that is not such a URL is returned unchanged.
func RedactURL(s string) string {
	if !strings.Contains(s, "://") || (!strings.Contains(s, "@") && !strings.Contains(s, "?")) {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	changed := false
	if u.User != nil {
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "***")
			changed = true
		}
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if secretParam.MatchString(k) {
				q[k] = []string{"***"}
				changed = true
			}
		}
		u.RawQuery = q.Encode()
	}
	if !changed {
		return s
	}
	return strings.ReplaceAll(u.String(), "%2A%2A%2A", "***")
}

func sortStrings(s []string) { sort.Strings(s) }
