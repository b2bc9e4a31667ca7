locals {
  flavor = (
    var.size == "large"
    ? "m1.large"
    : "m1.small"
  )
  name = var.prefix != "" ? "${var.prefix}-web" : "web"
}
