variable "regions" {
  type    = list(string)
  default = ["eu", "us"]
}

resource "terraform_data" "region" {
  count = length(var.regions)
  input = element(var.regions, count.index)
}

resource "terraform_data" "endpoint" {
  for_each = { for i, r in var.regions : r => i }
  input    = "https://${each.key}.example.test/${terraform_data.region[each.value].output}/${each.value}"
}

output "regions" {
  value = terraform_data.region[*].output
}

output "endpoints" {
  value = { for k, e in terraform_data.endpoint : k => e.output }
}
