package api

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/dsr-project/dsr/internal/requests"
)

// Rate is a token bucket: Events per Per on average, and up to Burst at once.
type Rate struct {
	Events int
	Per    time.Duration
	// Burst defaults to Events.
	Burst int
}

// RateLimits bound the public routes that mail people or check secrets. Each field's zero
// value means its default (see DefaultRateLimits).
//
// The limits are kept in the memory of each API process: several processes behind one load
// balancer each allow the full rate, so a deployment's limit is the per-process one times
// the number of processes. The workflow limits verification attempts on its own as well.
type RateLimits struct {
	// IntakePerIP and IntakePerAddress bound POST /api/v1/requests per client IP and per
	// keyed hash of the normalised address. An invalid address counts only per IP.
	IntakePerIP      Rate
	IntakePerAddress Rate
	// VerifyPerIP and VerifyPerRequest bound verify, resend-code and identity together,
	// per client IP (every attempt, authorised or not) and per request.
	VerifyPerIP      Rate
	VerifyPerRequest Rate
	// DRPPerAgent bounds the Data Rights Protocol calls that carry an agent's bearer token,
	// per agent; DRPSetUpPerIP bounds the pair-wise key setup, which carries none, per
	// client IP, so nobody can spend a listed agent's allowance by naming it in the path.
	DRPPerAgent   Rate
	DRPSetUpPerIP Rate
	// MaxKeys bounds how many clients, addresses or requests each limit tracks at once;
	// 0 means 100,000.
	MaxKeys int
}

// DefaultRateLimits are generous to a person at a keyboard and tight for a script.
func DefaultRateLimits() RateLimits {
	return RateLimits{
		IntakePerIP:      Rate{Events: 10, Per: time.Minute, Burst: 20},
		IntakePerAddress: Rate{Events: 5, Per: time.Hour, Burst: 5},
		VerifyPerIP:      Rate{Events: 10, Per: time.Minute, Burst: 20},
		VerifyPerRequest: Rate{Events: 20, Per: time.Hour, Burst: 20},
		// An agent such as Permission Slip sends requests for many people in batches.
		DRPPerAgent:   Rate{Events: 600, Per: time.Minute, Burst: 600},
		DRPSetUpPerIP: Rate{Events: 10, Per: time.Minute, Burst: 20},
		MaxKeys:       100_000,
	}
}

// withDefaults fills in each zero field.
func (l RateLimits) withDefaults() RateLimits {
	d := DefaultRateLimits()
	for _, f := range []struct{ got, def *Rate }{
		{&l.IntakePerIP, &d.IntakePerIP}, {&l.IntakePerAddress, &d.IntakePerAddress},
		{&l.VerifyPerIP, &d.VerifyPerIP}, {&l.VerifyPerRequest, &d.VerifyPerRequest},
		{&l.DRPPerAgent, &d.DRPPerAgent}, {&l.DRPSetUpPerIP, &d.DRPSetUpPerIP},
	} {
		if f.got.Events <= 0 || f.got.Per <= 0 {
			*f.got = *f.def
		}
		if f.got.Burst <= 0 {
			f.got.Burst = f.got.Events
		}
	}
	if l.MaxKeys <= 0 {
		l.MaxKeys = d.MaxKeys
	}
	return l
}

// limiters are the server's token buckets, one set per limit.
type limiters struct {
	intakeIP, intakeAddress, verifyIP, verifyRequest *bucketSet
	drpAgent, drpSetUpIP                             *bucketSet
}

func newLimiters(l RateLimits) limiters {
	l = l.withDefaults()
	return limiters{
		intakeIP:      newBucketSet(l.IntakePerIP, l.MaxKeys),
		intakeAddress: newBucketSet(l.IntakePerAddress, l.MaxKeys),
		verifyIP:      newBucketSet(l.VerifyPerIP, l.MaxKeys),
		verifyRequest: newBucketSet(l.VerifyPerRequest, l.MaxKeys),
		drpAgent:      newBucketSet(l.DRPPerAgent, l.MaxKeys),
		drpSetUpIP:    newBucketSet(l.DRPSetUpPerIP, l.MaxKeys),
	}
}

// bucketSet is one token bucket per key. A bucket idle long enough to have refilled is
// the same as a new one, so it is dropped; that keeps the map as small as the keys seen
// within one refill time.
type bucketSet struct {
	limit   rate.Limit
	burst   int
	refill  time.Duration
	maxKeys int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	limiter  *rate.Limiter
	lastSeen time.Time
}

// sweepEvery is how often a set looks for idle buckets.
const sweepEvery = time.Minute

func newBucketSet(r Rate, maxKeys int) *bucketSet {
	every := r.Per / time.Duration(r.Events)
	return &bucketSet{
		limit: rate.Every(every), burst: r.Burst, refill: every * time.Duration(r.Burst),
		maxKeys: maxKeys, buckets: map[string]*bucket{},
	}
}

// take spends one token of key's bucket at now. When there is none it spends nothing and
// returns how long until there is.
func (b *bucketSet) take(key string, now time.Time) (wait time.Duration, ok bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bk := b.buckets[key]
	if bk == nil {
		b.makeRoom(now)
		bk = &bucket{limiter: rate.NewLimiter(b.limit, b.burst)}
		b.buckets[key] = bk
	}
	bk.lastSeen = now
	res := bk.limiter.ReserveN(now, 1)
	if delay := res.DelayFrom(now); delay > 0 {
		res.CancelAt(now)
		return delay, false
	}
	return 0, true
}

// makeRoom drops idle buckets once a minute, and whenever the set is full. If a flood of
// new keys keeps it full, it drops arbitrary buckets: that resets some clients' limits
// early, which is better than refusing every new client.
func (b *bucketSet) makeRoom(now time.Time) {
	full := len(b.buckets) >= b.maxKeys
	if !full && now.Sub(b.lastSweep) < sweepEvery {
		return
	}
	b.lastSweep = now
	for key, bk := range b.buckets {
		if now.Sub(bk.lastSeen) >= b.refill {
			delete(b.buckets, key)
		}
	}
	for key := range b.buckets {
		if len(b.buckets) < b.maxKeys*9/10 {
			break
		}
		delete(b.buckets, key)
	}
}

// size is how many keys the set tracks, for tests.
func (b *bucketSet) size() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.buckets)
}

// limit spends a token of key's bucket in set, or refuses with 429.
func (s *Server) limit(set *bucketSet, key string) error {
	if wait, ok := set.take(key, s.opts.Now()); !ok {
		return rateLimited(wait)
	}
	return nil
}

func rateLimited(wait time.Duration) *apiError {
	seconds := int((wait + time.Second - 1) / time.Second)
	return &apiError{status: http.StatusTooManyRequests, code: codeOf(http.StatusTooManyRequests),
		message: "too many requests; try again later", retryAfter: strconv.Itoa(max(seconds, 1))}
}

// limitIntakeByIP refuses an intake from a client that sent too many.
func (s *Server) limitIntakeByIP(c echo.Context) error {
	return s.limit(s.limiters.intakeIP, s.clientKey(c.Request()))
}

// limitIntakeByAddress refuses an intake for an address that was submitted too often.
func (s *Server) limitIntakeByAddress(in requests.Intake) error {
	return s.limit(s.limiters.intakeAddress, s.opts.Secret.EmailHash(in.Email))
}

// limitVerifyByIP counts every POST to a request's routes from the client, before its status
// token is checked, so a client cannot try codes or tokens faster than the limit.
func (s *Server) limitVerifyByIP(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method != http.MethodPost {
			return next(c)
		}
		if err := s.limit(s.limiters.verifyIP, s.clientKey(c.Request())); err != nil {
			return err
		}
		return next(c)
	}
}

// limitVerifyByRequest counts the authorised attempts on one request. It runs after the
// status token is checked, so nobody else can use up a requester's attempts.
func (s *Server) limitVerifyByRequest(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.limit(s.limiters.verifyRequest, currentRequest(c).ID); err != nil {
			return err
		}
		return next(c)
	}
}

// clientKey is what a client is counted by: its IP address, or for IPv6 its /64, which is
// what one subscriber is usually given.
func (s *Server) clientKey(r *http.Request) string {
	ip := s.clientIP(r)
	if ip.Is6() {
		p, err := ip.Prefix(64)
		if err == nil {
			return p.String()
		}
	}
	return ip.String()
}

// clientIP is the address of the connection, unless that is a trusted proxy: then it is
// the nearest address in X-Forwarded-For that is not one, read from the right, since only
// the entries our proxies appended can be believed.
func (s *Server) clientIP(r *http.Request) netip.Addr {
	ip := remoteIP(r)
	if !s.trustedProxy(ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values(echo.HeaderXForwardedFor), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		ip = hop.Unmap()
		if !s.trustedProxy(ip) {
			break
		}
	}
	return ip
}

// remoteIP is the connection's address; one that does not parse counts as the zero address.
func remoteIP(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	if ip, err := netip.ParseAddr(r.RemoteAddr); err == nil {
		return ip.Unmap()
	}
	return netip.Addr{}
}

func (s *Server) trustedProxy(ip netip.Addr) bool {
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
