

def answer(student, case):
    image = image_array(case["image"])
    turn = student.hflip if case.get("op") == "hflip" else student.rot90
    return {"image": image_json(turn(image))}
