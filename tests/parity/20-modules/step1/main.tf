variable "envs" {
  type    = map(number)
  default = { dev = 1, prod = 2 }
}

module "app" {
  source   = "./modules/app"
  for_each = var.envs
  name     = each.key
  size     = each.value
  labels   = { env = each.key }
}

module "extra" {
  source = "./modules/app"
  count  = 2
  name   = "extra${count.index}"
  labels = null
}

resource "terraform_data" "summary" {
  input = { for env, m in module.app : env => length(m.nodes) }
}

output "tags" {
  value = { for env, m in module.app : env => m.tag }
}

output "extra_nodes" {
  value = module.extra[*].nodes
}

output "summary" {
  value = terraform_data.summary.output
}
