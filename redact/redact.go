// Package redact masks secrets in what gotune shows and saves about other
// processes: command lines (as argv vectors: a value holding spaces stays
// one value), URLs (credentials, secret query parameters), and the GO*
// environment (the only variables kept). It errs towards masking: a masked
// harmless value costs little, a leaked token a lot. Snapshots, reports,
// gotune advise and gotune attach --json all go through it.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces a secret value.
const Mask = "*****"

// secretName matches names of flags, query parameters and variables whose
// values are secrets. It errs towards masking: a masked harmless value costs
// little, a leaked token a lot.
var secretName = regexp.MustCompile(`(?i)(pass(word|wd|phrase)?|pwd|token|secret|key|credential|auth|bearer|cookie|session|signature|private|dsn|jwt|otp|(^|[-_.])sig($|[-_.])|sas$)`)

// Args masks secrets in a command line: values of flags with secret
// names (--password=x, -token x, --api-key x), NAME=value arguments with
// secret names, and credentials or secret query parameters in URLs.
func Args(args []string) []string {
	out := make([]string, len(args))
	maskNext := false
	for i, a := range args {
		if maskNext && !strings.HasPrefix(a, "-") {
			out[i] = Mask
			maskNext = false
			continue
		}
		maskNext = false
		switch {
		case strings.HasPrefix(a, "-"):
			name, val, hasVal := cutFlag(strings.TrimLeft(a, "-"))
			if secretName.MatchString(name) {
				if hasVal {
					out[i] = a[:len(a)-len(val)] + Mask
				} else {
					out[i] = a
					maskNext = true
				}
				continue
			}
			if hasVal {
				out[i] = a[:len(a)-len(val)] + nested(val)
				continue
			}
			out[i] = a
		case strings.Contains(a, "="):
			name, _, _ := strings.Cut(a, "=")
			if secretName.MatchString(name) && !strings.Contains(name, "/") {
				out[i] = name + "=" + Mask
				continue
			}
			out[i] = URL(a)
		default:
			out[i] = URL(a)
		}
	}
	return out
}

// cutFlag splits "name=value" or "name:value" (--apikey:VALUE).
func cutFlag(s string) (name, val string, ok bool) {
	i := strings.IndexAny(s, "=:")
	if i < 0 || strings.HasPrefix(s[i:], "://") {
		return s, "", false
	}
	return s[:i], s[i+1:], true
}

// nested masks what a flag's value itself holds: a URL, or flags of its
// own (GOFLAGS=-ldflags=-X=main.apiKey=..., --opts="-token x").
func nested(v string) string {
	if strings.Contains(v, " ") || strings.HasPrefix(v, "-") {
		return strings.Join(Args(strings.Fields(v)), " ")
	}
	if name, val, ok := cutFlag(v); ok && secretName.MatchString(name) && !strings.Contains(name, "/") {
		return v[:len(v)-len(val)] + Mask
	}
	return URL(v)
}

// Command masks secrets in a command line given as one string, split at
// spaces. A value that held spaces in the argv vector cannot be told apart
// from the next argument here: use Args on the vector where it is known.
func Command(cmd string) string {
	if cmd == "" {
		return ""
	}
	return strings.Join(Args(strings.Split(cmd, " ")), " ")
}

// URL masks the password of a URL (user:password@) and the values of
// query parameters with secret names. Strings that are not URLs with a
// scheme are returned unchanged.
func URL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		// Unparseable but URL-shaped: mask everything between :// and @.
		if at := strings.Index(s, "@"); at > 0 {
			i := strings.Index(s, "://") + 3
			if i < at {
				return s[:i] + Mask + s[at:]
			}
		}
		return s
	}
	changed := false
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), Mask)
		} else {
			u.User = url.User(Mask) // a lone userinfo is usually a token
		}
		changed = true
	}
	if u.RawQuery != "" {
		q := u.Query()
		for k := range q {
			if secretName.MatchString(k) {
				q[k] = []string{Mask}
				changed = true
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	if !changed {
		return s
	}
	return strings.ReplaceAll(u.String(), url.QueryEscape(Mask), Mask)
}

// GoEnv keeps only GO* variables of env (GOGC, GOMEMLIMIT, GOMAXPROCS,
// GODEBUG, ...); everything else may hold secrets and never enters a
// snapshot. Values of GO* variables with secret names (GOPROXY with
// credentials, GOAUTH) are masked too.
func GoEnv(env map[string]string) map[string]string {
	if env == nil {
		return nil
	}
	out := map[string]string{}
	for k, v := range env {
		if !strings.HasPrefix(k, "GO") {
			continue
		}
		switch {
		case secretName.MatchString(k):
			v = Mask
		case k == "GOFLAGS":
			v = nested(v) // -ldflags=-X=main.apiKey=... and the like
		default:
			v = URL(v)
		}
		out[k] = v
	}
	return out
}
