// A program that calls only strings.Repeat, fixed in 1.27.3 according to
// testdata/vulncheck/osv: strings is imported, but no vulnerable function
// of the running release is called.
package main

import (
	"fmt"
	"strings"
)

func main() { fmt.Println(strings.Repeat("a", 3)) }
