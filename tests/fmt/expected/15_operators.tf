locals {
  sum   = 1 + 2 * 3 - 4 / 2 % 3
  neg   = -var.x
  neg2  = 1 - -2
  cmp   = var.a >= 1 && var.b <= 2 || !var.c
  eq    = var.a == var.b
  ne    = var.a != var.b
  cond  = var.a ? "yes" : "no"
  paren = (1 + 2) * 3
}
