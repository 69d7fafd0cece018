// Command nproc prints the number of processors available to the process,
// as coreutils' nproc does (u-root has none).
package main

import (
	"fmt"
	"runtime"
)

func main() { fmt.Println(runtime.NumCPU()) }
