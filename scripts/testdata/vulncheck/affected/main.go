// A program that calls strings.ToUpper, vulnerable in every Go release
// according to testdata/vulncheck/osv, and strings.Repeat, fixed in 1.27.3.
package main

import (
	"fmt"
	"strings"
)

func main() { fmt.Println(strings.ToUpper(strings.Repeat("a", 3))) }
