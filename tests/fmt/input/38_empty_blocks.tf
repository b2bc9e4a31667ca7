resource "x" "a" {
}
resource "x" "b" {   }
locals {

}
terraform {}
