/* a block comment
   over several lines */
locals {
  a = 1 /* inline */
  b = [ /* first */ 1, 2 /* second */ ]
  /* alone */
  c = 3
}
