variable "enabled" {
  type    = bool
  default = true
}

variable "settings" {
  type    = any
  default = { mode = "fast" }
}

variable "port_text" {
  type    = string
  default = "8080"
}

locals {
  mode      = try(var.settings.mode, "default")
  level     = try(var.settings.level, "info")
  port      = can(tonumber(var.port_text)) ? tonumber(var.port_text) : 80
  first_ok  = try(tonumber("x"), tonumber("12"), 0)
  size      = var.enabled ? (local.port > 1024 ? "high" : "low") : "off"
  checks    = [can(regex("^[a-z]+$", "abc")), can(regex("^[a-z]+$", "ABC")), can(var.settings.level)]
  unified   = var.enabled ? 1 : "one"
  maybe_tag = var.enabled ? "tagged" : null
}

resource "terraform_data" "feature" {
  count = var.enabled ? 1 : 0
  input = local.size
}

resource "terraform_data" "always" {
  input = {
    mode  = local.mode
    level = local.level
    port  = local.port
  }
}

output "feature" {
  value = var.enabled ? terraform_data.feature[0].output : null
}

output "feature_list" {
  value = terraform_data.feature[*].output
}

output "always" {
  value = terraform_data.always.output
}

output "misc" {
  value = {
    first_ok  = local.first_ok
    checks    = local.checks
    unified   = local.unified
    maybe_tag = local.maybe_tag
  }
}
