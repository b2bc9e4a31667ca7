variable "vpc_cidr" {
  type    = string
  default = "10.20.0.0/16"
}

variable "subnet_count" {
  type    = number
  default = 2
}

locals {
  subnets = [for i in range(var.subnet_count) : cidrsubnet(var.vpc_cidr, 8, i)]
  v6      = cidrsubnet("fd00:fd12:3456:7890::/56", 16, 162)
}

resource "terraform_data" "subnet" {
  count = length(local.subnets)
  input = {
    cidr    = local.subnets[count.index]
    gateway = cidrhost(local.subnets[count.index], 1)
    mask    = cidrnetmask(local.subnets[count.index])
  }
}

output "subnets" {
  value = terraform_data.subnet[*].output
}

output "network" {
  value = {
    last_host = cidrhost(var.vpc_cidr, -2)
    wide      = cidrsubnet(var.vpc_cidr, 4, 15)
    mask      = cidrnetmask(var.vpc_cidr)
    v6        = local.v6
    v6_host   = cidrhost(local.v6, 5)
  }
}

output "numbers" {
  value = {
    min      = min(4, 2.5, 9)
    max      = max([3, 7, 1]...)
    abs      = [abs(-3.7), abs(0), abs(12)]
    ceil     = [ceil(2.1), ceil(-2.1), ceil(5)]
    floor    = [floor(2.9), floor(-2.1)]
    tonumber = [tonumber("42"), tonumber("3.25"), tonumber(7)]
    divide   = 7 / 2
    modulo   = 7 % 3
    mixed    = floor(max(var.subnet_count * 1.5, 1)) + ceil(abs(-0.5))
    sum      = 0.1 + 0.2
    big      = 12345678901234567890 + 1
  }
}
