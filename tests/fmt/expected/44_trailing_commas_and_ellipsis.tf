locals {
  a = [1, 2, ]
  b = f(a, b, )
  c = { for k, v in var.m : k => v... }
  d = []
  e = {}
}
