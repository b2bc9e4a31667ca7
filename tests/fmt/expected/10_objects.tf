locals {
  tags = {
    env           = "prod"
    team          = "platform"
    "cost-center" = "1234"
  }
  inline = { a = 1, b = 2 }
  nested = { outer = { inner = true } }
}
