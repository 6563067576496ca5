// Command sigtrace traces Linux signal delivery with eBPF: who sent which
// signal to whom, what the receiver was set up to do with it, and whether it
// died of it.
package main

import "os"

func main() {
	os.Exit(run(os.Args[1:]))
}
