variable "networks" {
  type = map(object({
    cidr    = string
    subnets = list(string)
  }))
  default = {
    blue = { cidr = "10.1.0.0/16", subnets = ["app", "db"] }
    red  = { cidr = "10.2.0.0/16", subnets = ["app"] }
  }
}

locals {
  subnet_list = flatten([
    for net, cfg in var.networks : [
      for i, s in cfg.subnets : {
        key  = "${net}-${s}"
        net  = net
        cidr = cidrsubnet(cfg.cidr, 8, i)
      }
    ]
  ])
  subnet_map = { for s in local.subnet_list : s.key => s }
}

resource "terraform_data" "network" {
  for_each = var.networks
  input    = each.value.cidr
}

resource "terraform_data" "subnet" {
  for_each = local.subnet_map
  input = {
    network_id = terraform_data.network[each.value.net].id
    cidr       = each.value.cidr
  }
}

output "subnet_keys" {
  value = keys(local.subnet_map)
}

output "subnets" {
  value = { for k, s in terraform_data.subnet : k => s.output.cidr }
}

output "subnet_networks" {
  value = { for k, s in terraform_data.subnet : k => s.output.network_id == terraform_data.network[local.subnet_map[k].net].id }
}

output "network_ids" {
  value = { for k, n in terraform_data.network : k => n.id }
}
