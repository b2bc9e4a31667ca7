locals {
  a = 1 # a
  bb = 22 # bb
  ccc = 333 # ccc

  d = "x" # separate run
  eeee = {    # opens
    f = 1   # inside
  }
}
