locals {
  x = (var.a
    ? "one"
  : "two")
}
