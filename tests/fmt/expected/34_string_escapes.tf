locals {
  quote     = "say \"hi\""
  backslash = "C:\\path\\to"
  unicode   = "caf\u00e9"
  newline   = "a\nb"
  tab       = "a\tb"
}
