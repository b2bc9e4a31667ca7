locals {
  deep = {
  a = {
  b = {
  c = [
  {
  d = 1
  }
  ]
  }
  }
  }
}
