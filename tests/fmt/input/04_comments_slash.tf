// leading slash comment
variable "image" {
  // a comment inside
  default = "cirros" // trailing slash comment
  type = string// tight
}
