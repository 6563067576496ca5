//go:build !amd64 && !arm64

package syscalls

var names = [...]string{}
