/*
 * Kernel types for CO-RE, per target architecture. bpf2go builds one object
 * per target and passes -D__TARGET_ARCH_x86 or -D__TARGET_ARCH_arm64; see
 * bpf/README.md for where each header comes from.
 */
#if defined(__TARGET_ARCH_x86)
#include "vmlinux_x86.h"
#elif defined(__TARGET_ARCH_arm64)
#include "vmlinux_arm64.h"
#else
#error "vmlinux.h: define __TARGET_ARCH_x86 or __TARGET_ARCH_arm64 (bpf2go -target amd64,arm64 does)"
#endif
