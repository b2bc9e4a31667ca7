variable "message" {
  type    = string
  default = "hello"
}

variable "release" {
  type    = string
  default = "1.0"
}

resource "terraform_data" "app" {
  input            = var.message
  triggers_replace = [var.release, "fixed"]
}

resource "terraform_data" "static" {
  input = "constant"
}

output "app" {
  value = terraform_data.app.output
}

output "app_id_length" {
  value = length(terraform_data.app.id)
}

output "static" {
  value = terraform_data.static.output
}
