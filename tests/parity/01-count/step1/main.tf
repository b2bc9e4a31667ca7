variable "n" {
  type    = number
  default = 3
}

resource "terraform_data" "node" {
  count = var.n
  input = {
    name  = format("node-%02d", count.index + 1)
    index = count.index
    even  = count.index % 2 == 0
  }
}

output "names" {
  value = terraform_data.node[*].output.name
}

output "count" {
  value = length(terraform_data.node)
}

output "last_index" {
  value = terraform_data.node[var.n - 1].output.index
}

output "even_names" {
  value = [for n in terraform_data.node : n.output.name if n.output.even]
}
