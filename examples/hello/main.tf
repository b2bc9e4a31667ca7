# A stack with no cloud at all: terraform_data stands in for networks and
# servers, so the engine (variables, count, for_each, references, outputs)
# can be tried anywhere. Run it with:
#
#   stackform -chdir=examples/hello apply -auto-approve

variable "environment" {
  type    = string
  default = "dev"

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "environment must be dev, staging or prod."
  }
}

variable "networks" {
  description = "Networks to create, by name."
  type = map(object({
    cidr   = string
    shared = optional(bool, false)
  }))
  default = {
    app = { cidr = "10.10.0.0/16" }
    db  = { cidr = "10.20.0.0/16", shared = true }
  }
}

variable "servers_per_network" {
  type    = number
  default = 2
}

locals {
  prefix = "${var.environment}-stack"
  tags   = { environment = var.environment, managed_by = "stackform" }
}

resource "terraform_data" "network" {
  for_each = var.networks

  input = {
    name   = "${local.prefix}-${each.key}"
    cidr   = each.value.cidr
    shared = each.value.shared
    tags   = local.tags
  }
}

resource "terraform_data" "server" {
  count = var.servers_per_network * length(var.networks)

  input = {
    name    = format("%s-srv-%02d", local.prefix, count.index)
    network = terraform_data.network[keys(var.networks)[count.index % length(var.networks)]].output.name
    address = cidrhost(values(var.networks)[count.index % length(var.networks)].cidr, 10 + count.index)
  }
  triggers_replace = [var.environment]
}

output "networks" {
  value = { for k, n in terraform_data.network : k => n.output.cidr }
}

output "servers" {
  value = [for s in terraform_data.server : "${s.output.name} on ${s.output.network} at ${s.output.address}"]
}
