variable "envs" {
  type    = map(number)
  default = { dev = 1, prod = 2 }
}

module "service" {
  source   = "./modules/app"
  for_each = var.envs
  name     = each.key
  size     = each.value
  labels   = { env = each.key }
}

moved {
  from = module.app
  to   = module.service
}

module "extra" {
  source = "./modules/app"
  count  = 1
  name   = "extra${count.index}"
  labels = null
}

resource "terraform_data" "summary" {
  input = { for env, m in module.service : env => length(m.nodes) }
}

output "tags" {
  value = { for env, m in module.service : env => m.tag }
}

output "extra_nodes" {
  value = module.extra[*].nodes
}

output "summary" {
  value = terraform_data.summary.output
}
