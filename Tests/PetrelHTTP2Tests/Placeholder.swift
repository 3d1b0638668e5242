import Testing
@testable import PetrelHTTP2
