variable "servers" {
  type = map(object({
    size = string
    port = number
  }))
  default = {
    web = { size = "small", port = 80 }
    api = { size = "xlarge", port = 8080 }
  }
}

resource "terraform_data" "server" {
  for_each = var.servers
  input    = "${each.key}:${each.value.size}:${each.value.port}"
}

output "inputs" {
  value = { for k, s in terraform_data.server : k => s.output }
}

output "keys" {
  value = keys(terraform_data.server)
}

output "ports" {
  value = values(var.servers)[*].port
}
