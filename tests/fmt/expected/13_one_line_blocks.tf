variable "a" { default = 1 }
variable "b" { type = string }
variable "c" {}
resource "x" "y" { name = "n" }
