locals {
  a = join( ",",var.list )
  b = lookup(var.map,"key" ,"default")
  c = format ("%s-%d", var.name, count.index)
  d = merge(var.a, {extra = true})
  e = jsonencode({
    key = "value"
      list = [1, 2]
  })
  f = concat(var.a,var.b,)
  g = max(var.list...)
}
