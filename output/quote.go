package output

// AppendJSONString appends s quoted as a JSON string, as the JSON renderer
// writes text from the kernel or users: invalid UTF-8 becomes U+FFFD, and
// controls, C1 controls and the bidirectional and invisible format
// characters are escaped, so the string is safe on a terminal too.
func AppendJSONString(b []byte, s []byte) []byte { return appendBytesString(b, s) }
