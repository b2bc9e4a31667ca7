variable "nothing" {
  type    = string
  default = "now set"
}

resource "terraform_data" "shape" {
  input = {
    name    = "shape"
    sizes   = [1, 2]
    enabled = true
  }
}

output "string" { value = "text" }
output "number" { value = 42 }
output "fraction" { value = 7 / 2 }
output "big_number" { value = 123456789012345678901234567890 }
output "bool" { value = false }
output "list" { value = tolist(["b", "a"]) }
output "set" { value = toset(["b", "a", "b"]) }
output "map" { value = tomap({ x = 1, y = 2 }) }
output "object" { value = { name = "o", count = 1, ok = true } }
output "tuple" { value = ["s", 1, false] }
output "null" { value = null }
output "null_variable" { value = var.nothing }
output "object_with_null" { value = { present = "yes", absent = null } }
output "empty_tuple" { value = [] }
output "empty_object" { value = {} }
output "empty_list" { value = tolist([]) }
output "empty_map" { value = tomap({}) }
output "list_of_objects" { value = [for n in ["a", "b"] : { name = n }] }
output "map_of_lists" { value = tomap({ a = ["1"], b = ["2", "3"] }) }
output "set_of_numbers" { value = toset([3, 1, 2, 1]) }
output "resource" { value = terraform_data.shape }
output "resource_output" { value = terraform_data.shape.output }
