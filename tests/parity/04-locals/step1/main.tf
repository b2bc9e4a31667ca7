variable "env" {
  type    = string
  default = "dev"
}

variable "app" {
  type    = string
  default = "shop"
}

locals {
  # Declared before the locals it depends on: order of declaration is irrelevant.
  name_prefix = "${var.app}-${local.env_short}"
  summary     = "${local.name_prefix} runs ${local.replicas} replica(s)"
  env_short   = substr(var.env, 0, 3)
  is_prod     = var.env == "production"
  replicas    = local.is_prod ? 3 : 1
  names       = [for i in range(local.replicas) : "${local.name_prefix}-${i}"]
}

resource "terraform_data" "app" {
  count = local.replicas
  input = local.names[count.index]
}

resource "terraform_data" "summary" {
  input = local.summary
}

output "prefix" {
  value = local.name_prefix
}

output "names" {
  value = terraform_data.app[*].output
}

output "summary" {
  value = terraform_data.summary.output
}

output "is_prod" {
  value = local.is_prod
}
