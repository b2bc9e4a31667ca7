variable "value" {
  type = string
}

variable "extra" {
  type = map(string)
}

resource "terraform_data" "label" {
  input = join(",", concat(["tag:${var.value}"], [for k, v in var.extra : "${k}=${v}"]))
}

output "label" {
  value = terraform_data.label.output
}
