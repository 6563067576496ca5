//go:build !(linux && (amd64 || arm64))

package testproc

import (
	"errors"
	"time"
)

// VforkSleep is only written for linux/amd64 and linux/arm64.
func VforkSleep(d time.Duration) (pid int, err error) {
	return 0, errors.New("VforkSleep: no assembly for this architecture")
}
