variable "s" {
  type = "string"
}
variable "l" {
  type = "list"
}
variable "m" {
  type = "map"
}
variable "bare_list" {
  type = list
}
variable "bare_map" {
  type = map
}
variable "modern" {
  type = list(object({ name = string, size = number }))
}
