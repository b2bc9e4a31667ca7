locals {
  x = [{
    a = 1
    }, {
    b = 2
  }]
  y = merge({
    a = 1
  }, var.extra)
  z = [[1, 2], [3, 4]]
}
