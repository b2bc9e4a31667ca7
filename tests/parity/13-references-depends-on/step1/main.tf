variable "base" {
  type    = string
  default = "v1"
}

resource "terraform_data" "a" {
  input = "a-${var.base}"
}

resource "terraform_data" "b" {
  input = {
    from_a = "${terraform_data.a.output}+b"
    a_id   = terraform_data.a.id
  }
}

resource "terraform_data" "c" {
  triggers_replace = terraform_data.a.output
  input            = "c"
}

resource "terraform_data" "d" {
  input      = "d"
  depends_on = [terraform_data.b, terraform_data.c]
}

output "b" {
  value = terraform_data.b.output
}

output "links" {
  value = {
    b_points_at_a = terraform_data.b.output.a_id == terraform_data.a.id
    a_id          = terraform_data.a.id
    c_triggers    = terraform_data.c.triggers_replace
    id_lengths    = [for r in [terraform_data.a, terraform_data.b, terraform_data.c, terraform_data.d] : length(r.id)]
  }
}

output "d" {
  value = terraform_data.d.output
}
