locals {
  joined = join(
    ",",
    [
      for s in var.names :
      lower(s)
    ],
  )
  cidr = cidrsubnet(var.base,
    8,
  count.index)
  conditional = var.enabled ? {
    a = 1
    } : {
    b = 2
  }
}
