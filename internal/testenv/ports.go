package testenv

import (
	"math/rand/v2"
	"net"
	"strconv"
	"testing"
)

// FreePortRange finds n consecutive free loopback ports and returns the first, for a
// cluster that counts its ports from one base. The ports stay below 32768: Temporal keeps
// membership ports in a PostgreSQL smallint.
func FreePortRange(t testing.TB, n int) int {
	t.Helper()
	for range 50 {
		base := 20000 + rand.IntN(12000)
		free := true
		for p := base; p < base+n && free; p++ {
			ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
			if err != nil {
				free = false
				continue
			}
			ln.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free range of loopback ports")
	return 0
}
