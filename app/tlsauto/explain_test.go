package tlsauto

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"

	"github.com/mholt/acmez/v3/acme"
)

func acmeConnectionProblem() error {
	authz := acme.Authorization{Challenges: []acme.Challenge{{Type: acme.ChallengeTypeHTTP01, Status: acme.StatusInvalid}}}
	return fmt.Errorf("[portal] Obtain: %w", acme.Problem{Type: acme.ProblemTypeConnection, Detail: "Fetching http://portal/.well-known/acme-challenge/x: Timeout", Resource: authz})
}

// TestExplain: what the CA or the machine says becomes plain words and a
// stable code the owner's screen and the log share.
func TestExplain(t *testing.T) {
	tlsAuthz := acme.Authorization{Challenges: []acme.Challenge{{Type: acme.ChallengeTypeTLSALPN01, Status: acme.StatusInvalid}}}
	for _, c := range []struct {
		err        error
		code, says string
	}{
		{acmeConnectionProblem(), CodePortClosed, "port 80 is not reachable from the internet: check the router's port forwarding"},
		{acme.Problem{Type: acme.ProblemTypeConnection, Resource: tlsAuthz}, CodePortClosed, "port 443 is not reachable"},
		{acme.Problem{Type: acme.ProblemTypeDNS}, CodeDNS, "does not resolve"},
		{acme.Problem{Type: acme.ProblemTypeUnauthorized}, CodeWrongMachine, "another machine"},
		{acme.Problem{Type: acme.ProblemTypeRateLimited}, CodeRateLimited, "rate limit"},
		{acme.Problem{Type: acme.ProblemTypeServerInternal}, CodeCADown, "having trouble"},
		{acme.Problem{Type: acme.ProblemTypeRejectedIdentifier}, CodeRefused, "will not issue"},
		{fmt.Errorf("save: %w", syscall.ENOSPC), CodeDiskFull, "disk is full"},
		{errors.New("dial tcp 127.0.0.1:1: connect: connection refused"), CodeCAUnreachable, "internet connection"},
		{errors.New("hearth is locked: the certificate stored in the database cannot be read"), CodeLocked, "unlock"},
	} {
		code, says := Explain(c.err, "portal.example.org", 80, 443)
		if code != c.code || !strings.Contains(says, c.says) {
			t.Errorf("%v: %s %q", c.err, code, says)
		}
	}
}
