variable "name" { type = string }
variable "replicas" { type = number }
variable "debug" {
  type    = bool
  default = false
}
variable "zones" { type = list(string) }
variable "limits" { type = map(number) }
variable "ports" { type = set(number) }
variable "service" {
  type = object({
    name     = string
    port     = optional(number, 8080)
    protocol = optional(string)
    health = optional(object({
      path     = optional(string, "/healthz")
      interval = optional(number, 30)
    }), {})
  })
}
variable "owner" {
  type     = string
  default  = "platform"
  nullable = false
}
variable "retries" {
  type    = number
  default = 3
  validation {
    condition     = var.retries >= 0 && var.retries <= 10
    error_message = "retries must be between 0 and 10."
  }
}
variable "env" {
  type    = string
  default = "dev"
  validation {
    condition     = contains(["dev", "prod"], var.env)
    error_message = "env must be dev or prod."
  }
}

resource "terraform_data" "svc" {
  input = {
    name    = var.name
    service = var.service
    sizing  = "${var.replicas}x${var.retries}@${var.env}"
  }
}

output "svc" { value = terraform_data.svc.output }
output "name" { value = var.name }
output "replicas" { value = var.replicas }
output "debug" { value = var.debug }
output "zones" { value = var.zones }
output "limits" { value = var.limits }
output "ports" { value = var.ports }
output "owner" { value = var.owner }
output "retries" { value = var.retries }
