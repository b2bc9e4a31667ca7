locals {
  list = [
    # first
    "a", # a
    "bbb", # b

    // last
  ]
  obj = {
    # leading
    k = "v" # trailing
    /* block */ kk = 2
  }
}
