# Each variable is set by every source up to the one named in its value, so
# its final value names the source that won.
variable "v_default" { default = "default" }
variable "v_env" { default = "default" }
variable "v_tfvars" { default = "default" }
variable "v_auto_10" { default = "default" }
variable "v_auto_9" { default = "default" }
variable "v_cli_var" { default = "default" }
variable "v_cli_file" { default = "default" }
variable "v_first_file" { default = "default" }
variable "tags" {
  type    = map(string)
  default = {}
}

locals {
  all = {
    v_default    = var.v_default
    v_env        = var.v_env
    v_tfvars     = var.v_tfvars
    v_auto_10    = var.v_auto_10
    v_auto_9     = var.v_auto_9
    v_cli_var    = var.v_cli_var
    v_cli_file   = var.v_cli_file
    v_first_file = var.v_first_file
    tags         = var.tags
  }
}

resource "terraform_data" "winners" {
  input = local.all
}

output "winners" {
  value = terraform_data.winners.output
}
