variable "name" {
  type = string
}

variable "size" {
  type    = number
  default = 1
}

variable "labels" {
  type     = map(string)
  default  = {}
  nullable = false
}

locals {
  prefix = "${var.name}-node"
}

resource "terraform_data" "node" {
  count = var.size
  input = "${local.prefix}-${count.index}"
}

module "tag" {
  source = "../tag"
  value  = terraform_data.node[0].output
  extra  = var.labels
}

output "nodes" {
  value = terraform_data.node[*].output
}

output "tag" {
  value = module.tag.label
}
