locals {
  upper    = [for s in var.names : upper(s)]
  by_name  = { for s in var.servers : s.name => s.id }
  filtered = [for x in var.xs : x if x != ""]
  grouped  = { for k, v in var.m : v => k... }
  indexed  = [for i, v in var.list : "${i}-${v}"]
}
